<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
 <renderer-v2 type="categorizedSymbol" attr="priority" symbollevels="0" enableorderby="0" forceraster="0">
  <categories>
   <category render="true" value="hoch" label="hoch / high" symbol="0"/>
   <category render="true" value="mittel" label="mittel / medium" symbol="1"/>
   <category render="true" value="niedrig" label="niedrig / low" symbol="2"/>
  </categories>
  <symbols>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
     <prop k="color" v="215,25,28,140"/><prop k="outline_color" v="127,0,0,255"/><prop k="outline_width" v="0.26"/>
     <prop k="style" v="solid"/>
    </layer>
   </symbol>
   <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
     <prop k="color" v="253,174,97,140"/><prop k="outline_color" v="127,0,0,255"/><prop k="outline_width" v="0.26"/>
     <prop k="style" v="solid"/>
    </layer>
   </symbol>
   <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
     <prop k="color" v="255,255,191,140"/><prop k="outline_color" v="127,0,0,255"/><prop k="outline_width" v="0.26"/>
     <prop k="style" v="solid"/>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
