<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
 <renderer-v2 type="categorizedSymbol" attr="class_de" symbollevels="0" enableorderby="0" forceraster="0">
  <categories>
   <category render="true" value="weiß" label="weiß / white" symbol="0"/>
   <category render="true" value="hellgrau" label="hellgrau / light grey" symbol="1"/>
   <category render="true" value="dunkelgrau" label="dunkelgrau / dark grey" symbol="2"/>
   <category render="true" value="schwarz" label="schwarz / black" symbol="3"/>
   <category render="true" value="gigabitfähig" label="gigabitfähig / gigabit" symbol="4"/>
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="255,255,255,255"/><prop k="name" v="circle"/><prop k="size" v="1.8"/>
     <prop k="outline_color" v="80,80,80,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="189,189,189,255"/><prop k="name" v="circle"/><prop k="size" v="1.8"/>
     <prop k="outline_color" v="80,80,80,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="99,99,99,255"/><prop k="name" v="circle"/><prop k="size" v="1.8"/>
     <prop k="outline_color" v="80,80,80,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="0,0,0,255"/><prop k="name" v="circle"/><prop k="size" v="1.8"/>
     <prop k="outline_color" v="80,80,80,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="26,152,80,255"/><prop k="name" v="circle"/><prop k="size" v="1.8"/>
     <prop k="outline_color" v="80,80,80,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
