<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
 <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">
  <symbols>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
     <prop k="color" v="215,25,28,41"/><prop k="outline_color" v="215,25,28,255"/><prop k="outline_width" v="0.6"/>
     <prop k="style" v="solid"/>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
